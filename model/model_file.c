/* Model files in HDF5. */
#include <stdio.h>

#include "model_file.h"

struct model *
mf_load(const char *path, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: not implemented", path);
	return NULL;
}

int
mf_save(const struct model *m, const char *path, char *err, size_t errlen)
{
	(void)m;
	snprintf(err, errlen, "%s: not implemented", path);
	return -1;
}
