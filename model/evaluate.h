/* Measures for iolatd compare: how a model's decisions score against the
 * labels, and how far the int8 model's tensors are from the float model's. */
#ifndef IOLAT_EVALUATE_H
#define IOLAT_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "model.h"

struct eval_scores {
	size_t n, tp, tn, fp, fn;
	double accuracy;
	double balanced_accuracy; /* (TPR + TNR) / 2 */
	double fpr;               /* FP / (FP + TN) */
	double fnr;               /* FN / (FN + TP) */
	double roc_auc;           /* from probabilities, ties counted half */
};

/* Scores decisions and probabilities (n of each) against labels. */
void eval_scores(const uint8_t *decision, const float *probability,
		 const uint8_t *label, size_t n, struct eval_scores *s);

/* ROC-AUC as the Mann-Whitney statistic: the chance that a random slow
 * sample has a higher probability than a random fast one, ties half.
 * NAN when either class is absent. */
double eval_roc_auc(const float *probability, const uint8_t *label, size_t n);

/* Difference of one layer's output, int8 (dequantized) against float. */
struct eval_layer {
	double max_abs_diff;
	double mean_abs_diff;
	double mse;
	double sqnr_db; /* 10 log10(sum f^2 / sum (f - q)^2); inf when equal */
	double sum_sq_signal, sum_sq_noise; /* accumulators */
	size_t count;
};

/* Runs both models over every row of data. decisions and probabilities
 * of each (data->n each) and per-layer differences (n_layers entries) are
 * written to the caller's arrays. Returns 0, or -1 with err on a shape
 * mismatch between the models or with the data. */
int eval_compare(const struct model *f, const struct model *q,
		 const struct ds *data, uint8_t *f_decision, float *f_prob,
		 uint8_t *q_decision, float *q_prob, struct eval_layer *layers,
		 char *err, size_t errlen);

/* Bytes of parameters the model holds in memory for inference. */
size_t eval_model_bytes(const struct model *m);

/* Median ns per prediction over the dataset's rows (several passes). */
double eval_ns_per_prediction(const struct model *m, const struct ds *data);

#endif
