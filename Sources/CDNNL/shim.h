// oneDNN (Debian: libdnnl-dev), for its JIT-compiled SGEMM. It picks its kernels from the CPU's
// instruction-set features (AVX2, AVX-512…), where OpenBLAS 0.3.21 picks them from a table of CPU
// models and falls back to SSE3 ("Prescott") on models newer than the table: 4–6× slower here.
#include <oneapi/dnnl/dnnl.h>

// Debian's libdnnl is built with OpenMP (libgomp). weightconv splits work over its own threads and
// asks each GEMM to stay on the calling thread; omp.h lives in GCC's private include folder, so the
// one function needed is declared here (libgomp's C ABI).
void omp_set_num_threads(int);
