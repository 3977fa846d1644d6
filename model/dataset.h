/* Datasets of feature vectors in HDF5 (DESIGN.md "File formats"):
 *   compact: /features float32 [N, n_features] and, when labelled,
 *            /labels uint8 [N] and /latency_us uint32 [N];
 *   Samsung ONE's representative dataset: /value/<record>/<input>, here one
 *            input "0" of float32 [1, n_features] per record, records named
 *            "0", "1", ... (ONE's record-minmax reads this layout).
 * Readers detect the layout. The features are raw (not normalised): the
 * model's /input group normalises. */
#ifndef IOLAT_DATASET_H
#define IOLAT_DATASET_H

#include <stddef.h>
#include <stdint.h>

/* The widest record read or written: a sanity bound against a file that
 * claims absurd shapes (models take at most QM_MAX_FEATURES). */
#define DS_MAX_FEATURES 1024

enum ds_layout {
	DS_COMPACT = 0,
	DS_ONE = 1,
};

struct ds {
	uint32_t n_features;
	size_t n;
	float *features;      /* [n][n_features] */
	uint8_t *labels;      /* [n] 0 fast / 1 slow, or NULL: unlabelled */
	uint32_t *latency_us; /* [n], or NULL */
};

/* Allocates an empty dataset of n rows (labels and latency_us only when
 * labelled), uninitialised; buffers exist even for n == 0. A zeroed
 * struct ds is an empty dataset too. Returns 0 or -1 (no memory). */
int ds_alloc(struct ds *d, size_t n, uint32_t n_features, int labelled);

/* Reads either layout. Fails, with one line in err naming the file and
 * the dataset at fault, on: not HDF5, neither layout, wrong rank or shape
 * or type, labels without latency or the reverse, label values other than
 * 0/1, a ONE record missing or of another shape than the first, NaN or Inf
 * in the features, no records at all, more than DS_MAX_FEATURES. A file
 * holding both layouts is read as compact. ONE's records are the members
 * of /value, as ONE counts them: N members must be records 0..N-1.
 * layout (may be NULL) receives the layout found. Returns 0 or -1, and
 * then leaves d empty. */
int ds_read(const char *path, struct ds *d, enum ds_layout *layout, char *err,
	    size_t errlen);

/* Writes d in the given layout (ONE's keeps only the features), atomically
 * (temporary file, then rename), with root attributes format =
 * "iolat-dataset" and n_features for h5dump (readers do not need them).
 * The same content gives the same bytes. Refuses what ds_read would
 * refuse (no records, NaN or Inf, labels other than 0/1 or without
 * latencies). Returns 0 or -1. */
int ds_write(const char *path, const struct ds *d, enum ds_layout layout,
	     char *err, size_t errlen);

void ds_free(struct ds *d);

#endif
