#include <stdio.h>

int
main(void)
{
	puts("bench_predict: not yet written");
	return 0;
}
