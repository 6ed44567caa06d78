/* paths — where the binaries find the shipped catalog, reason codes and models.
 *
 * In order: $TINCHAP_MODELS_DIR; the installed layout next to the binary
 * (<prefix>/bin/tinchap -> <prefix>/share/tinchap/models); the source tree's models/ fixed at
 * build time, so a binary run from the build directory works too. */
#ifndef TC_PATHS_H
#define TC_PATHS_H

const char *tc_default_models_dir(void);

/* Version and commit of this build. */
const char *tc_build_version(void);
const char *tc_build_commit(void);

#endif
