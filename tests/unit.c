/* The unit test runner: every suite, one Check summary. A suite name on
 * the command line (or CK_RUN_SUITE) runs only that one. */
#include <stdlib.h>

#include "suites.h"

static Suite *(*const all_suites[])(void) = {
	fixedpoint_suite,
	dense_suite,
	quant_suite,
	model_file_suite,
	csv_suite,
	proto_suite,
	simd_suite,
	trace_suite,
	dataset_suite,
	feat_suite,
	calib_suite,
	config_suite,
	stats_suite,
	predictor_suite,
	kvclient_suite,
};

int
main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

	for (size_t i = 0; i < sizeof(all_suites) / sizeof(all_suites[0]); i++)
		srunner_add_suite(sr, all_suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
