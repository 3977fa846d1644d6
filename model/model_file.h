/* Model files (HDF5, DESIGN.md "File formats"): write and read float32
 * and int8 models. A loader that returns a model has validated all of it. */
#ifndef IOLAT_MODEL_FILE_H
#define IOLAT_MODEL_FILE_H

#include <stddef.h>

#include "model.h"

#define MF_FORMAT "iolat-model"
#define MF_FORMAT_VERSION 1

/* The installed default int8 model (make install, models/): what iolatd
 * predict and serve and libkvclient use unless given another. */
#define MF_DEFAULT_MODEL IOLAT_DATADIR "/iolat-default-int8.h5"

/* Loads a model file. On failure returns NULL and writes one line to err
 * naming the file and the dataset or attribute at fault, e.g.
 * "m.h5: /layers/1/weights has shape [16,64], expected [16,128]".
 * An int8 model comes back prepared (model_finish_int8). */
struct model *mf_load(const char *path, char *err, size_t errlen);

/* Writes m to path (replacing it). Returns 0, or -1 with err filled. */
int mf_save(const struct model *m, const char *path, char *err, size_t errlen);

#endif
