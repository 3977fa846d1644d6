#include "suites.h"

Suite *
fixedpoint_suite(void)
{
	return suite_create("fixedpoint");
}
