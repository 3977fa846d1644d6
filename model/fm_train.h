/* Training of the float MLP: binary cross-entropy on the logit, Adam,
 * mini-batches, optional class weighting, early stopping on a held-back
 * set. Deterministic for a given seed on a given build. */
#ifndef IOLAT_FM_TRAIN_H
#define IOLAT_FM_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "fmodel.h"
#include "quant.h"

struct fm_train_options {
	uint32_t epochs;     /* at most this many passes */
	uint32_t batch;      /* samples per Adam step */
	float learning_rate; /* Adam's alpha */
	float pos_weight;    /* loss weight of slow samples (1: none) */
	uint32_t patience;   /* epochs without validation gain before stopping */
	uint64_t seed;       /* initialisation and shuffling */
	/* Pseudo-quantization noise: when not NULL, each training sample's
	 * raw feature j gets uniform noise of +-input_noise[j] / 2, the width
	 * of one int8 input step, so that the model learns not to hang its
	 * decisions on differences the int8 input cannot see. */
	const float *input_noise;
	/* Quantization-consistency fine-tuning: when not NULL, each step
	 * also runs the network with fake quantization at these ranges
	 * (fm_fakequant.h, straight-through gradients) and adds
	 * qat_weight * (fake-quant logit - float logit)^2 to the loss, so that
	 * the int8 model learns to decide as the float one does. */
	const struct quant_ranges *qat_ranges;
	float qat_weight;
	/* Start from m's weights instead of a fresh initialisation. */
	int finetune;
	/* Called after each epoch when not NULL (progress lines). */
	void (*progress)(void *ctx, uint32_t epoch, double train_loss, double val_loss);
	void *progress_ctx;
};

void fm_train_defaults(struct fm_train_options *o);

/* Sets m's normalisation to the mean and std of x (n x n_features raw
 * features; a constant feature gets std 1). */
void fm_fit_normalisation(struct fm_model *m, const float *x, size_t n);

/* Initialises m's weights (He uniform) and trains on x/y, stopping early
 * on the loss over vx/vy (which may be empty: then all epochs run). m's
 * normalisation must be set. Returns 0, or -1 when out of memory; on
 * return m holds the weights of the best validation epoch. */
int fm_train(struct fm_model *m, const float *x, const uint8_t *y, size_t n,
	     const float *vx, const uint8_t *vy, size_t vn,
	     const struct fm_train_options *o);

/* One int8 step of each feature over the raw range of x (n rows), for
 * fm_train_options.input_noise. */
void fm_input_steps(const struct fm_model *m, const float *x, size_t n,
		    float *steps);

/* Mean weighted binary cross-entropy of m over x/y. */
double fm_loss(const struct fm_model *m, const float *x, const uint8_t *y,
	       size_t n, float pos_weight);

#endif
