# SPDX-License-Identifier: GPL-2.0
# Shared settings for the project's scripts (sourced, not run).
# Everything big lives outside the repository, in HVN_CACHE, so that a clean
# clone reuses the kernel source and build of an earlier run on this machine.
: "${HVN_CACHE:=/var/cache/hv-netvsc-rs}"
KSERIES=7.3
BINDGEN_VERSION=0.72.1
QEMU_QMP_VERSION=0.0.6
PYYAML_VERSION=6.0.3
LLVM_SUFFIX=-19
KSRC="$HVN_CACHE/linux-$KSERIES"
export HVN_CACHE KSERIES BINDGEN_VERSION QEMU_QMP_VERSION PYYAML_VERSION LLVM_SUFFIX KSRC
