#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TC_MODELS_DIR
#error "TC_MODELS_DIR must be defined by the build"
#endif
#ifndef TC_VERSION
#define TC_VERSION "0.0.0"
#endif
#ifndef TC_COMMIT
#define TC_COMMIT "unknown"
#endif

const char *tc_default_models_dir(void)
{
    static char installed[4096];
    const char *env = getenv("TINCHAP_MODELS_DIR");
    if (env != NULL && env[0] != '\0')
        return env;
    char exe[4000];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            struct stat st;
            snprintf(installed, sizeof installed, "%s/../share/tinchap/models", exe);
            if (stat(installed, &st) == 0 && S_ISDIR(st.st_mode))
                return installed;
        }
    }
    return TC_MODELS_DIR;
}

const char *tc_build_version(void)
{
    return TC_VERSION;
}

const char *tc_build_commit(void)
{
    return TC_COMMIT;
}
