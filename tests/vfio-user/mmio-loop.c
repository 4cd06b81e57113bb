/* mmio-loop ADDRESS COUNT: COUNT 32-bit reads of the MMIO address ADDRESS (hex, physical) through /dev/mem, then
 * prints "mmio-loop: COUNT reads in NS ns". The vfio-user stage's guest uses it to time BAR accesses without a
 * process start per access (busybox devmem starts one per access, which hides what an access costs). Built static
 * on the host by run.sh and put into the guest's initramfs. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mmio-loop ADDRESS COUNT\n");
        return 2;
    }
    char *end;
    unsigned long long address = strtoull(argv[1], &end, 16);
    if (*end != '\0' || (address & 3) != 0) {
        fprintf(stderr, "mmio-loop: bad address %s\n", argv[1]);
        return 2;
    }
    long count = strtol(argv[2], &end, 10);
    if (*end != '\0' || count <= 0) {
        fprintf(stderr, "mmio-loop: bad count %s\n", argv[2]);
        return 2;
    }
    int fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0) {
        perror("mmio-loop: /dev/mem");
        return 1;
    }
    long page = sysconf(_SC_PAGESIZE);
    unsigned long long base = address & ~(unsigned long long)(page - 1);
    void *map = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)base);
    if (map == MAP_FAILED) {
        perror("mmio-loop: mmap");
        return 1;
    }
    volatile uint32_t *reg = (volatile uint32_t *)((char *)map + (address - base));
    uint32_t sink = 0;
    struct timespec start, stop;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; i++)
        sink ^= *reg;
    clock_gettime(CLOCK_MONOTONIC, &stop);
    long long ns = (stop.tv_sec - start.tv_sec) * 1000000000LL + (stop.tv_nsec - start.tv_nsec);
    printf("mmio-loop: %ld reads in %lld ns (last 0x%08x)\n", count, ns, (unsigned)sink);
    return 0;
}
