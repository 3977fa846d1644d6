/* avx2 variant of the int8 core. */
#include "qm_simd_internal.h"
