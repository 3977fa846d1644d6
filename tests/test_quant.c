#include "suites.h"

Suite *
quant_suite(void)
{
	return suite_create("quant");
}
