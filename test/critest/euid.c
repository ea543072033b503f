/*
 * cktest-euid: prints its real and effective uid. Installed setuid root in
 * a volume, it shows whether exec could raise privileges: it can without
 * no_new_privs and cannot with it. Static, so it runs in any image.
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    printf("uid=%u euid=%u\n", (unsigned)getuid(), (unsigned)geteuid());
    return 0;
}
