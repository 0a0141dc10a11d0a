"""CPU flags decide bf16: parsed from /proc/cpuinfo texts of real machines (abridged)."""

from __future__ import annotations

from wristviewer.ai.cpu import CpuInfo, parse_cpuinfo

EPYC_AVX2 = """\
processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 23
model name\t: AMD EPYC 7B12
flags\t\t: fpu vme de pse tsc msr pae mce sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni
bogomips\t: 4499.99

processor\t: 1
model name\t: AMD EPYC 7B12
flags\t\t: fpu avx512_bf16 (a second processor is never read)
"""

ZEN4_BF16 = """\
processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 9R14 96-Core Processor
flags\t\t: fpu sse2 avx avx2 avx512f avx512dq avx512_vnni avx512_bf16 avx512_vbmi2 gfni
"""

SAPPHIRE_AMX = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8488C
flags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx_vnni amx_bf16 amx_tile amx_int8 avx512_fp16
"""


def test_avx2_only_epyc_has_no_native_bf16() -> None:
    info = parse_cpuinfo(EPYC_AVX2)
    assert info.model == "AMD EPYC 7B12"
    assert "avx2" in info.flags and "avx512_bf16" not in info.flags  # first processor only
    assert not info.native_bf16
    assert info.reported_flags == ["avx2"]
    assert info.bf16_reason().startswith("fp32: the CPU has no native bf16")
    assert info.describe() == "AMD EPYC 7B12 (flags: avx2)"
    assert info.to_dict() == {"model": "AMD EPYC 7B12", "flags": ["avx2"], "native_bf16": False}


def test_avx512_bf16_and_amx_are_native() -> None:
    zen4 = parse_cpuinfo(ZEN4_BF16)
    assert zen4.model == "AMD EPYC 9R14 96-Core Processor" and zen4.native_bf16
    assert zen4.reported_flags == ["avx2", "avx512f", "avx512_vnni", "avx512_bf16"]
    assert zen4.bf16_reason() == "bf16: the CPU has native bf16 (avx512_bf16)"
    amx = parse_cpuinfo(SAPPHIRE_AMX)
    assert amx.native_bf16 and "avx512_bf16" not in amx.flags
    assert amx.bf16_reason() == "bf16: the CPU has native bf16 (amx_bf16)"
    assert amx.describe() == (
        "Intel(R) Xeon(R) Platinum 8488C (flags: avx2, avx512f, avx512_vnni, avx_vnni, "
        "amx_tile, amx_bf16, amx_int8)"
    )


def test_unknown_cpu_never_assumes_bf16() -> None:
    info = parse_cpuinfo("processor : 0\n")
    assert info == CpuInfo("unknown", frozenset())
    assert not info.native_bf16
    assert "flags are unknown" in info.bf16_reason()
    assert info.describe() == "unknown (flags: none of note)"
    # ARM spells its flag line "Features"
    arm = parse_cpuinfo("processor : 0\nFeatures : fp asimd bf16 i8mm\n")
    assert arm.flags == frozenset({"fp", "asimd", "bf16", "i8mm"})
