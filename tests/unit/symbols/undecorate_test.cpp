// MSVC public names as WinDbg prints them. Decorated forms are the real
// publics of processmarauder/x86/wntdll.pdb (llvm-pdbutil-16 dump -publics)
// and of the corpus C++ PDBs; the undecorated forms are what WinDbg's k shows
// for them (e.g. "ntdll!_RtlUserThreadStart+0x1b", "ntdll!NtWaitForSingleObject+0xc").
#include "symbols/symbol_provider.h"

#include <gtest/gtest.h>

namespace nt {
namespace {

TEST(Undecorate, X86CNames) {
    EXPECT_EQ(undecorateName("_NtWaitForSingleObject@12", true), "NtWaitForSingleObject");
    EXPECT_EQ(undecorateName("__RtlUserThreadStart@8", true), "_RtlUserThreadStart");
    EXPECT_EQ(undecorateName("___RtlUserThreadStart@8", true), "__RtlUserThreadStart");
    EXPECT_EQ(undecorateName("__chkstk", true), "_chkstk");
    EXPECT_EQ(undecorateName("_LdrDelegatedRtlUserThreadStart", true), "LdrDelegatedRtlUserThreadStart");
    EXPECT_EQ(undecorateName("@BaseThreadInitThunk@12", true), "BaseThreadInitThunk");
    // An import thunk keeps its name.
    EXPECT_EQ(undecorateName("__imp__Sleep@4", true), "__imp__Sleep@4");
}

TEST(Undecorate, X64NamesAreNotStripped) {
    EXPECT_EQ(undecorateName("_fltused", false), "_fltused");
    EXPECT_EQ(undecorateName("RtlUserThreadStart", false), "RtlUserThreadStart");
}

TEST(Undecorate, CppNames) {
    EXPECT_EQ(undecorateName("?crash@@YAX_N@Z", false), "crash");
    EXPECT_EQ(undecorateName("?stackMethod@stackTestClass@@QAEXXZ", true), "stackTestClass::stackMethod");
    EXPECT_EQ(undecorateName("?f@C@ns@@QEAAHXZ", false), "ns::C::f");
    EXPECT_EQ(undecorateName("??0stackTestClass@@QAE@XZ", true), "stackTestClass::stackTestClass");
    EXPECT_EQ(undecorateName("??1stackTestClass@@QAE@XZ", true), "stackTestClass::~stackTestClass");
    EXPECT_EQ(undecorateName("??_GC@@UEAAPEAXI@Z", false), "C::`scalar deleting destructor'");
    EXPECT_EQ(undecorateName("??_7C@@6B@", false), "C::`vftable'");
    // A digit is a back reference to an earlier fragment, the name itself
    // being fragment 0: "?x@A@1@" is A::A::x.
    EXPECT_EQ(undecorateName("?x@A@1@", false), "A::A::x");
}

TEST(Undecorate, WhatItDoesNotUnderstandComesBackUnchanged) {
    // String literals, templates, truncated names.
    EXPECT_EQ(undecorateName("??_C@_0BD@BHKNPFBB@RtlUserThreadStart@", true), "??_C@_0BD@BHKNPFBB@RtlUserThreadStart@");
    EXPECT_EQ(undecorateName("??$max@H@std@@YAABHABH0@Z", false), "??$max@H@std@@YAABHABH0@Z");
    EXPECT_EQ(undecorateName("?broken", false), "?broken");
    EXPECT_EQ(undecorateName("?9@", false), "?9@");
    EXPECT_EQ(undecorateName("?", false), "?");
}

}  // namespace
}  // namespace nt
