/*
 * seccomp_profile.h — the data of docker's default seccomp profile
 * (seccomp_profile.c); sandbox_policy.c compiles it with libseccomp.
 * Everything not listed fails with EPERM.
 */
#ifndef STRATA_BUILD_SECCOMP_PROFILE_H
#define STRATA_BUILD_SECCOMP_PROFILE_H

#include <stddef.h>

extern const char *const seccomp_profile_allow[];
extern const size_t seccomp_profile_nallow;
extern const char *const seccomp_profile_allow_x86[];
extern const size_t seccomp_profile_nallow_x86;
extern const unsigned long seccomp_profile_personality[];
extern const size_t seccomp_profile_npersonality;
extern const unsigned long seccomp_profile_clone_ns_mask;
extern const unsigned long seccomp_profile_socket_denied_family;

#endif
