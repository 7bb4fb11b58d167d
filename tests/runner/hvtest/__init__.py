# SPDX-License-Identifier: GPL-2.0
"""hvtest: the one QEMU runner that tests, the demo and benchmarks share.

It boots the project's test kernel under TCG on a q35 machine, with the
kernel console captured to a file, a command channel on a second serial port,
and a QMP socket for device hot-plug. See docs/testing.md.
"""
