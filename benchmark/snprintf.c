/* What snprintf itself costs, called from C with the benchmark's values
   (benchmark/workloads/snprintf.js): the part of that row no FFI can
   remove. cc -O2 benchmark/snprintf.c -o /tmp/snprintf && /tmp/snprintf */
#include <stdio.h>
#include <time.h>

int main(void) {
  char buf[64];
  volatile int sink = 0;
  volatile double d = 1.5;
  const int n = 2000000;
  for (int round = 0; round < 5; round++) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) sink += snprintf(buf, sizeof buf, "%d %.1f %s", i, d, "ok");
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
    if (round >= 2) printf("snprintf(buf, 64, \"%%d %%.1f %%s\", i, 1.5, \"ok\"): %.1f ns\n", ns);
  }
  return 0;
}
