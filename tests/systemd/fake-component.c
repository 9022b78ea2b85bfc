/* A stand-in for a Kubernetes component in the systemd tests.
 *
 * Records how it was started, then sleeps until killed:
 *   /run/fake-NAME.args  its argv, one argument per line
 *   /run/fake-NAME.pid   its PID (written last, so its presence means both are complete)
 * where NAME is the file name it runs as (/proc/self/exe), e.g. kubelet or kube-apiserver.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put(const char *path, const char *tmp, int argc, char **argv, int pid_only) {
    FILE *f = fopen(tmp, "w");
    if (!f) {
        perror(tmp);
        exit(1);
    }
    if (pid_only) {
        fprintf(f, "%ld\n", (long)getpid());
    } else {
        for (int i = 0; i < argc; i++)
            fprintf(f, "%s\n", argv[i]);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0) {
        perror("/proc/self/exe");
        return 1;
    }
    exe[n] = '\0';
    const char *slash = strrchr(exe, '/');
    const char *name = slash ? slash + 1 : exe;

    char path[PATH_MAX + 32], tmp[PATH_MAX + 32];
    snprintf(path, sizeof path, "/run/fake-%s.args", name);
    snprintf(tmp, sizeof tmp, "/run/.fake-%s.args", name);
    put(path, tmp, argc, argv, 0);
    snprintf(path, sizeof path, "/run/fake-%s.pid", name);
    snprintf(tmp, sizeof tmp, "/run/.fake-%s.pid", name);
    put(path, tmp, argc, argv, 1);

    printf("fake %s running as pid %ld\n", name, (long)getpid());
    fflush(stdout);
    for (;;)
        pause();
}
