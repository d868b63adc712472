// oneDNN (Debian libdnnl-dev 2.6, OpenMP runtime) for the CNN module.
// The DNNL_ARG_* names are macros defined through other macros, which Swift does not import
// reliably; they are re-exported here as plain constants.
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

static const int CDNNL_ARG_SRC = DNNL_ARG_SRC;
static const int CDNNL_ARG_DST = DNNL_ARG_DST;
static const int CDNNL_ARG_FROM = DNNL_ARG_FROM;
static const int CDNNL_ARG_TO = DNNL_ARG_TO;
static const int CDNNL_ARG_WEIGHTS = DNNL_ARG_WEIGHTS;
static const int CDNNL_ARG_BIAS = DNNL_ARG_BIAS;
static const int CDNNL_ARG_MEAN = DNNL_ARG_MEAN;
static const int CDNNL_ARG_VARIANCE = DNNL_ARG_VARIANCE;
static const int CDNNL_ARG_SCALE = DNNL_ARG_SCALE;
static const int CDNNL_ARG_SHIFT = DNNL_ARG_SHIFT;
static const int CDNNL_ARG_WORKSPACE = DNNL_ARG_WORKSPACE;
static const int CDNNL_ARG_DIFF_SRC = DNNL_ARG_DIFF_SRC;
static const int CDNNL_ARG_DIFF_DST = DNNL_ARG_DIFF_DST;
static const int CDNNL_ARG_DIFF_WEIGHTS = DNNL_ARG_DIFF_WEIGHTS;
static const int CDNNL_ARG_DIFF_BIAS = DNNL_ARG_DIFF_BIAS;
static const int CDNNL_ARG_DIFF_SCALE = DNNL_ARG_DIFF_SCALE;
static const int CDNNL_ARG_DIFF_SHIFT = DNNL_ARG_DIFF_SHIFT;
static const int CDNNL_ARG_SCRATCHPAD = DNNL_ARG_SCRATCHPAD;
static void *const CDNNL_MEMORY_ALLOCATE = DNNL_MEMORY_ALLOCATE;
static void *const CDNNL_MEMORY_NONE = DNNL_MEMORY_NONE;

/// Implementation name chosen by oneDNN for a primitive descriptor ("brgconv:avx512_core", ...).
static inline const char *cdnnl_impl_info(const_dnnl_primitive_desc_t pd) {
    const char *s = 0;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
    return s;
}

#include <malloc.h>
/// Keeps freed heap memory for reuse instead of unmapping it (see CNNRuntime.retainFreedMemory).
static inline void cdnnl_retain_freed_memory(void) {
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
}

// The OpenMP runtime oneDNN runs on (libgomp): its thread count is set from SonoKit's CPU budget
// (SLURM_CPUS_PER_TASK, cgroup quota) at start-up, since libgomp itself only sees the affinity mask.
void omp_set_num_threads(int);
int omp_get_max_threads(void);
