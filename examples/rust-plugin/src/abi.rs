//! The part of bbr/plugin.h (ABI 1.1) this plugin uses, declared by hand:
//! the header is the contract, not any C or C++ code. Layouts follow the C
//! structs field for field (`#[repr(C)]`); the sizes and offsets plugin.h pins
//! with its static asserts are checked below at compile time.
#![allow(non_camel_case_types, dead_code)]

use std::os::raw::{c_char, c_int, c_void};

pub const BBR_ABI_MAJOR: u32 = 1;
pub const BBR_ABI_MINOR: u32 = 1;

pub type bbr_status_t = i32;
pub const BBR_OK: bbr_status_t = 0;
pub type bbr_result_t = i32;
pub const BBR_CONTINUE: bbr_result_t = 0;
pub const BBR_FAIL_BAD_REQUEST: bbr_result_t = 400;
pub type bbr_log_level_t = i32;
pub const BBR_LOG_INFO: bbr_log_level_t = 2;
pub type bbr_phase_t = i32;
pub type bbr_json_type_t = i32;
pub const BBR_JSON_STRING: bbr_json_type_t = 4;

pub const BBR_CAP_REQUEST: u32 = 1 << 0;
pub const BBR_CAP_THREAD_SAFE: u32 = 1 << 2;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct bbr_buffer_t {
    pub data: *const c_char,
    pub length: usize,
}

#[repr(C)]
pub struct bbr_json_value_t {
    pub struct_size: u32,
    pub type_: bbr_json_type_t,
    pub boolean: c_int,
    pub integer: i64,
    pub number: f64,
    pub string: bbr_buffer_t,
    pub size: usize,
}

// Opaque handles.
#[repr(C)]
pub struct bbr_message_t {
    _private: [u8; 0],
}
#[repr(C)]
pub struct bbr_plugin_context_t {
    _private: [u8; 0],
}

type Msg = *mut bbr_message_t;
type Ctx = *const bbr_plugin_context_t;
type Unused = Option<unsafe extern "C" fn()>;

/// bbr_host_api_t up to parameter_get (the 1.0 table); the host's table is
/// larger, and this plugin never reads past what it declares.
#[repr(C)]
pub struct bbr_host_api_t {
    pub struct_size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub phase: Unused,
    pub get_header: Unused,
    pub header_count: Unused,
    pub header_at: Unused,
    pub set_header: unsafe extern "C" fn(Msg, *const c_char, usize, *const c_char, usize) -> bbr_status_t,
    pub remove_header: Unused,
    pub get_body: Unused,
    pub json_get: unsafe extern "C" fn(Msg, *const c_char, usize, *mut bbr_json_value_t) -> bbr_status_t,
    pub json_get_text: Unused,
    pub json_member_name: Unused,
    pub json_set: Unused,
    pub json_remove: Unused,
    pub replace_body: Unused,
    pub reject: Unused,
    pub set_error: unsafe extern "C" fn(Msg, *const c_char, usize),
    pub state_put: Unused,
    pub state_get: Unused,
    pub log_enabled: unsafe extern "C" fn(Ctx, bbr_log_level_t) -> c_int,
    pub log: unsafe extern "C" fn(Ctx, bbr_log_level_t, *const c_char, usize),
    pub counter_add: unsafe extern "C" fn(Ctx, *const c_char, usize, *const c_char, usize, *const c_char, usize, u64),
    pub parameter_get: unsafe extern "C" fn(Ctx, *const c_char, usize, *mut bbr_json_value_t) -> bbr_status_t,
}

#[repr(C)]
pub struct bbr_create_args_t {
    pub struct_size: u32,
    pub api: *const bbr_host_api_t,
    pub context: *mut bbr_plugin_context_t,
    pub instance_name: bbr_buffer_t,
    pub parameters_json: bbr_buffer_t,
    pub error: *mut c_char,
    pub error_capacity: usize,
}

pub type Hook = Option<unsafe extern "C" fn(*mut c_void, Msg) -> bbr_result_t>;

#[repr(C)]
pub struct bbr_plugin_type_t {
    pub struct_size: u32,
    pub name: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub capabilities: u32,
    pub parameters_schema: *const c_char,
    pub create: unsafe extern "C" fn(*const bbr_create_args_t, *mut *mut c_void) -> c_int,
    pub destroy: unsafe extern "C" fn(*mut c_void),
    pub process_request: Hook,
    pub process_response: Hook,
    // since 1.1
    pub process_response_chunk: Hook,
    pub process_response_event: Hook,
}
// The descriptor points at statics only: safe to share between threads.
unsafe impl Sync for bbr_plugin_type_t {}

#[repr(C)]
pub struct bbr_plugin_library_t {
    pub struct_size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub type_count: u32,
    pub types: *const *const bbr_plugin_type_t,
}
unsafe impl Sync for bbr_plugin_library_t {}

#[repr(C)]
pub struct bbr_host_info_t {
    pub struct_size: u32,
    pub abi_major: u32,
    pub abi_minor: u32,
    pub host_version: *const c_char,
}

/// A `*const` array of descriptors in a static.
#[repr(transparent)]
pub struct TypeList(pub [*const bbr_plugin_type_t; 1]);
unsafe impl Sync for TypeList {}

// The sizes plugin.h pins (LP64), checked when this crate compiles (Debian
// 12's rustc 1.63 has no const offset_of: layout_ok() checks the offsets).
const _: () = {
    use std::mem::size_of;
    assert!(size_of::<bbr_buffer_t>() == 16);
    assert!(size_of::<bbr_json_value_t>() == 56);
    assert!(size_of::<bbr_create_args_t>() == 72);
    assert!(size_of::<bbr_plugin_type_t>() == 96);
    assert!(size_of::<bbr_plugin_library_t>() == 24);
    assert!(size_of::<bbr_host_api_t>() == 184);
};

/// The offsets plugin.h pins, for the fields this plugin uses: the entry
/// refuses to load when a hand declaration drifted from the header.
pub fn layout_ok() -> bool {
    use std::mem::MaybeUninit;
    use std::ptr::addr_of;
    fn at<T, F>(base: *const T, field: *const F) -> usize {
        field as usize - base as usize
    }
    let api = MaybeUninit::<bbr_host_api_t>::uninit();
    let a = api.as_ptr();
    let value = MaybeUninit::<bbr_json_value_t>::uninit();
    let v = value.as_ptr();
    let args = MaybeUninit::<bbr_create_args_t>::uninit();
    let c = args.as_ptr();
    let ty = MaybeUninit::<bbr_plugin_type_t>::uninit();
    let t = ty.as_ptr();
    // SAFETY: addr_of! takes field addresses without reading the memory.
    unsafe {
        at(v, addr_of!((*v).string)) == 32
            && at(a, addr_of!((*a).set_header)) == 48
            && at(a, addr_of!((*a).json_get)) == 72
            && at(a, addr_of!((*a).set_error)) == 128
            && at(a, addr_of!((*a).log)) == 160
            && at(a, addr_of!((*a).counter_add)) == 168
            && at(a, addr_of!((*a).parameter_get)) == 176
            && at(c, addr_of!((*c).parameters_json)) == 40
            && at(c, addr_of!((*c).error)) == 56
            && at(t, addr_of!((*t).create)) == 48
            && at(t, addr_of!((*t).process_request)) == 64
            && at(t, addr_of!((*t).process_response_event)) == 88
    }
}
