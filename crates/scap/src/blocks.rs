//! Block type codes, and the metadata records that capture files carry
//! (defined in `sonde_event::meta`, re-exported here).

pub use sonde_event::meta::{
    fd_kind, FdDetail, FdInfo, GroupInfo, IfList, IfaceV4, IfaceV6, MachineInfo, ThreadInfo,
    UserInfo, UserList,
};

/// Section header block.
pub const SHB: u32 = 0x0A0D_0D0A;
/// Byte-order magic in the section header.
pub const SHB_MAGIC: u32 = 0x1A2B_3C4D;
/// Machine-info block.
pub const MI: u32 = 0x201;
/// Machine-info block (internal variant).
pub const MI_INT: u32 = 0x8002_ABCD;
/// Process-list block v1.
pub const PL_V1: u32 = 0x202;
/// Process-list block v1 (internal variant).
pub const PL_V1_INT: u32 = 0x8000_ABCD;
/// Process-list block v2.
pub const PL_V2: u32 = 0x207;
/// Process-list block v2 (internal variant).
pub const PL_V2_INT: u32 = 0x8013_ABCD;
/// Process-list block v3.
pub const PL_V3: u32 = 0x209;
/// Process-list block v3 (internal variant).
pub const PL_V3_INT: u32 = 0x8014_ABCD;
/// Process-list block v4.
pub const PL_V4: u32 = 0x210;
/// Process-list block v5.
pub const PL_V5: u32 = 0x211;
/// Process-list block v6.
pub const PL_V6: u32 = 0x212;
/// Process-list block v7.
pub const PL_V7: u32 = 0x213;
/// Process-list block v8.
pub const PL_V8: u32 = 0x214;
/// Process-list block v9.
pub const PL_V9: u32 = 0x215;
/// fd-list block v1.
pub const FDL: u32 = 0x203;
/// fd-list block v1 (internal variant).
pub const FDL_INT: u32 = 0x8001_ABCD;
/// fd-list block v2.
pub const FDL_V2: u32 = 0x218;
/// Event block v1.
pub const EV: u32 = 0x204;
/// Event block v1 (internal variant).
pub const EV_INT: u32 = 0x8010_ABCD;
/// Event block v2.
pub const EV_V2: u32 = 0x216;
/// Event block v2 with 32-bit parameter lengths.
pub const EV_V2_LARGE: u32 = 0x221;
/// Interface-list block v1.
pub const IL: u32 = 0x205;
/// Interface-list block v1 (internal variant).
pub const IL_INT: u32 = 0x8011_ABCD;
/// Interface-list block v2.
pub const IL_V2: u32 = 0x219;
/// User-list block v1.
pub const UL: u32 = 0x206;
/// User-list block v1 (internal variant).
pub const UL_INT: u32 = 0x8012_ABCD;
/// User-list block v2.
pub const UL_V2: u32 = 0x220;
/// Flagged event block v1 (events with dump flags).
pub const EVF: u32 = 0x208;
/// Flagged event block v2.
pub const EVF_V2: u32 = 0x217;
/// Flagged event block v2 with 32-bit parameter lengths.
pub const EVF_V2_LARGE: u32 = 0x222;

/// Process-list block generation 1..=9 for a block type, if it is one.
pub fn proclist_version(bt: u32) -> Option<u8> {
    Some(match bt {
        PL_V1 | PL_V1_INT => 1,
        PL_V2 | PL_V2_INT => 2,
        PL_V3 | PL_V3_INT => 3,
        PL_V4 => 4,
        PL_V5 => 5,
        PL_V6 => 6,
        PL_V7 => 7,
        PL_V8 => 8,
        PL_V9 => 9,
        _ => return None,
    })
}

/// The section header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SectionHeader {
    /// Format major version.
    pub major: u16,
    /// Format minor version.
    pub minor: u16,
    /// Section length (-1 as u64: unknown).
    pub section_length: u64,
    /// Raw option bytes after the fixed header (pcapng-style options), if any.
    pub options: Vec<u8>,
}
