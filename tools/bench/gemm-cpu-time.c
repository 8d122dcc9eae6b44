// Thread CPU time of one prefill-sized GEMM (a 1536 x 576 Q4_1 matrix, 512 tokens) with fp32 and
// with q8 activations, straight on the C kernels: a kernel-level figure that a loaded machine
// disturbs less than wall time (issue 14). Build after `swift build -c release`:
//   B=.build/x86_64-unknown-linux-gnu/release/CKernels.build
//   cc -O2 -ISources/CKernels/include tools/bench/gemm-cpu-time.c $B/*.o -lm -o /tmp/gemm-cpu-time && /tmp/gemm-cpu-time
#include "CKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double cpu(void){struct timespec t;clock_gettime(CLOCK_THREAD_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  int type=CK_Q4_1; int64_t rows=1536,k=576,nt=512;
  size_t rb=k/32*20; unsigned char*w=malloc(rows*rb); for(size_t i=0;i<rows*rb;i++) w[i]=rand();
  for(int64_t r=0;r<rows*k/32;r++){ uint16_t*p=(uint16_t*)(w+r*20); p[0]=0x2000; p[1]=0xa000; }
  float*x=malloc(nt*k*4); for(int i=0;i<nt*k;i++) x[i]=(rand()%2000-1000)/1000.0f;
  float*y=malloc(nt*rows*4); float*s=aligned_alloc(64,ck_gemm_scratch_floats(k)*4+4096);
  ck_block_q8a*q=malloc(nt*k/32*sizeof(ck_block_q8a));
  for(int rep=0;rep<3;rep++){
    double t0=cpu(); ck_gemm(type,w,rb,rows,k,x,k,nt,y,rows,s); double t1=cpu();
    for(int t=0;t<nt;t++) ck_quantize_q8a(x+t*k,k,q+t*k/32); double t2=cpu();
    ck_gemm_q8(type,w,rb,rows,k,q,k/32,nt,y,rows,s); double t3=cpu();
    double ops=2.0*rows*k*nt;
    printf("f32 %.1f GFLOP/s  q8 %.1f GOP/s (quantize %.2f ms, gemm %.2f ms vs f32 %.2f ms)\n",ops/(t1-t0)/1e9,ops/(t3-t2)/1e9,(t2-t1)*1e3,(t3-t2)*1e3,(t1-t0)*1e3);
  }
}
