/* Entry points of the SIMD variants, for qm_simd.c only. */
#ifndef IOLAT_QM_SIMD_INTERNAL_H
#define IOLAT_QM_SIMD_INTERNAL_H

#include "qmodel.h"

#endif
