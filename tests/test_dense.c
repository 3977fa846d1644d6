#include "suites.h"

Suite *
dense_suite(void)
{
	return suite_create("dense");
}
