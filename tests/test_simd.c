#include "suites.h"

Suite *
simd_suite(void)
{
	return suite_create("simd");
}
