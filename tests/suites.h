/* Every Check suite of the unit runner, registered in one list (unit.c). */
#ifndef IOLAT_TEST_SUITES_H
#define IOLAT_TEST_SUITES_H

#include <check.h>

Suite *fixedpoint_suite(void);
Suite *dense_suite(void);
Suite *quant_suite(void);
Suite *model_file_suite(void);
Suite *csv_suite(void);
Suite *proto_suite(void);
Suite *simd_suite(void);
Suite *trace_suite(void);
Suite *dataset_suite(void);
Suite *feat_suite(void);
Suite *calib_suite(void);
Suite *config_suite(void);
Suite *stats_suite(void);
Suite *predictor_suite(void);
Suite *kvclient_suite(void);

#endif
