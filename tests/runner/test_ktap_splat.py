# SPDX-License-Identifier: GPL-2.0
"""Tests of the runner's verdicts: a harness that misreads logs passes broken code."""

import os
import unittest

from hvtest import ktap
from hvtest.splat import find_splats

KSRC = os.environ.get('HVTEST_KSRC', '')

PASSING = '''\
[    3.101] hv_netvsc_rs: loading out-of-tree module taints kernel.
[    3.119] KTAP version 1
[    3.119] 1..1
[    3.120]     KTAP version 1
[    3.120]     # Subtest: hv_netvsc_rs_netdev
[    3.121]     # speed: normal
[    3.121]     1..2
[    3.130]     ok 1 etherdev_alloc_has_ethernet_defaults
[    3.140]     ok 2 etherdev_rejects_bad_arguments
[    3.141] # hv_netvsc_rs_netdev: pass:2 fail:0 skip:0 total:2
[    3.141] ok 1 hv_netvsc_rs_netdev
'''

FAILING = '''\
[    3.119] KTAP version 1
[    3.119] 1..1
[    3.120]     KTAP version 1
[    3.120]     # Subtest: hv_netvsc_rs_netdev
[    3.121]     1..2
[    3.130]     # etherdev_alloc: ASSERTION FAILED at drivers/net/mod.rs:90
[    3.130]     Expected dev.mtu() == 1500 to be true, but is false
[    3.130]     not ok 1 etherdev_alloc
[    3.140]     ok 2 etherdev_rejects_bad_arguments
[    3.141] # hv_netvsc_rs_netdev: pass:1 fail:1 skip:0 total:2
[    3.141] not ok 1 hv_netvsc_rs_netdev
'''

# The suite started and the kernel died before it finished.
CRASHED = '''\
[    3.119] KTAP version 1
[    3.119] 1..1
[    3.120]     KTAP version 1
[    3.120]     # Subtest: hv_netvsc_rs_netdev
[    3.121]     1..2
[    3.130]     ok 1 etherdev_alloc
[    3.131] BUG: kernel NULL pointer dereference, address: 0000000000000008
'''


@unittest.skipUnless(KSRC, 'HVTEST_KSRC (kernel source with tools/testing/kunit) not set')
class KtapVerdicts(unittest.TestCase):
    def test_passing_block_counts_each_case(self):
        res = ktap.parse(KSRC, PASSING.splitlines())
        self.assertEqual((res.passed, res.failed), (2, 0))
        self.assertEqual([c.name for c in res.cases],
                         ['etherdev_alloc_has_ethernet_defaults', 'etherdev_rejects_bad_arguments'])

    def test_failed_assertion_is_a_failure(self):
        res = ktap.parse(KSRC, FAILING.splitlines())
        self.assertEqual((res.passed, res.failed), (1, 1))

    def test_truncated_suite_is_not_a_pass(self):
        res = ktap.parse(KSRC, CRASHED.splitlines())
        self.assertGreater(res.failed, 0)

    def test_missing_ktap_is_not_a_pass(self):
        res = ktap.parse(KSRC, ['[ 1.0] hv_netvsc_rs: loaded'])
        self.assertEqual(res.passed, 0)
        self.assertGreater(res.failed, 0)


PCIEHP_REPORT = '''\
[    8.811431] WARNING: possible circular locking dependency detected
[    8.812262] irq/24-pciehp/34 is trying to acquire lock:
[    8.812432] ff110000006fc6d8 (&ctrl->reset_lock){.+.+}-{4:4}, at: pciehp_configure_device+0xb2/0x110
[    8.813488] ffffffff81cf6900 (pci_rescan_remove_lock){+.+.}-{4:4}, at: pciehp_configure_device+0x21/0x110
[    8.818300] faux_driver hvn_sim_vnic0 eth0: Data path switched to VF: eth2
[    8.818376]  <TASK>
[    8.818499]  dump_stack_lvl+0x67/0x90
[    8.818600]  </TASK>
'''


class SplatVerdicts(unittest.TestCase):
    def test_known_upstream_pciehp_report_is_not_ours(self):
        self.assertEqual(find_splats(PCIEHP_REPORT.splitlines()), [])

    def test_same_report_through_our_code_is_a_splat(self):
        ours = PCIEHP_REPORT.replace('dump_stack_lvl', 'hvn_vf_join')
        self.assertNotEqual(find_splats(ours.splitlines()), [])

    def test_other_lockdep_report_is_a_splat(self):
        other = PCIEHP_REPORT.replace('pci_rescan_remove_lock', 'some_other_lock')
        self.assertNotEqual(find_splats(other.splitlines()), [])

    def test_warn_bug_oops_lockdep_leak_are_splats(self):
        log = [
            '[ 5.0] ------------[ cut here ]------------',
            '[ 5.0] WARNING: CPU: 1 PID: 77 at drivers/netvsc_main.rs:30 init_module+0x1/0x2',
            '[ 5.0] WARNING: drivers/netvsc_main.rs:35 at init_module+0x50/0x1000 [hv_netvsc_rs], '
            'CPU#0: insmod/54',
            '[ 6.0] BUG: kernel NULL pointer dereference, address: 0000000000000000',
            '[ 6.1] Oops: 0002 [#1] SMP',
            '[ 7.0] WARNING: possible circular locking dependency detected',
            '[ 8.0] unreferenced object 0xffff888003a1c000 (size 64):',
            '[ 9.0] refcount_t: underflow; use-after-free.',
            '[ 9.5] rust_kernel: panicked at drivers/net/mod.rs:10:5:',
            '[ 9.6] BUG kmalloc-64 (Not tainted): Object already free',
            '[ 9.7] BUG kmalloc-rnd-05-1k (Tainted: G           O): Redzone overwritten',
            '[ 9.8] hv_emu: unexpected MSR read 0x40000022',
            '[ 9.9] hv_emu_host: unexpected VMBus message 5 (8 bytes)',
        ]
        self.assertEqual(len(find_splats(log)), len(log))

    def test_ordinary_boot_lines_are_not_splats(self):
        log = [
            '[ 0.0] Linux version 7.3.4 (root@host) (Debian clang version 19.1.7)',
            '[ 0.5] kmemleak: Kernel memory leak detector initialized (mem pool available: 15691)',
            '[ 1.0] hv_netvsc_rs: loaded',
            '[ 1.1] random: crng init done',
            '[ 2.0] e1000e: Intel(R) PRO/1000 Network Driver',
            '[ 2.1] ACPI: _OSC: OS supports WARNING_CONTROL',
            '[ 2.2] hv_emu: emulated Hyper-V host requested',
            '[ 2.3] hv_emu: VMBus waits for an emulator',
            '[ 3.0] hv_emu_host: version 6.0 refused',
            '[ 3.1] hv_vmbus: Vmbus version:5.2',
        ]
        self.assertEqual(find_splats(log), [])


if __name__ == '__main__':
    unittest.main()
