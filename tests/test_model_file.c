#include "suites.h"

Suite *
model_file_suite(void)
{
	return suite_create("model_file");
}
