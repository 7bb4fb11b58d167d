/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ACPI device hv_vmbus binds to (vmbus_acpi_device_ids: _HID "VMBUS"),
 * given to emulated-host guests only (QEMU -acpitable). "VMBUS" is not a
 * valid PNP/ACPI ID, so iasl needs -f to emit it, as Hyper-V's own tables do.
 * No _CRS: on x86 VMBus uses HYPERVISOR_CALLBACK_VECTOR, not an ACPI IRQ.
 */
DefinitionBlock ("vmbus.aml", "SSDT", 2, "HVNRS", "VMBUS", 1)
{
    Scope (\_SB)
    {
        Device (VMB0)
        {
            Name (_HID, "VMBUS")
            Name (_UID, 0)
            Name (_STA, 0x0F)
        }
    }
}
