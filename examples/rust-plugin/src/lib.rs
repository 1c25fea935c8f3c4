//! model-header-rs: a bbr-host request plugin in Rust. Copies the request
//! body's "model" into a header (parameter headerName; the schema's default,
//! "x-model-rs", is filled in by the host), logs it and counts it. A body
//! whose "model" is not a string is refused with 400.
//!
//! Everything crosses the C ABI of bbr/plugin.h, declared by hand in abi.rs:
//! no C or C++ code and no crates are involved. This is the proof that the
//! ABI, not our C++, is the contract.

mod abi;

use abi::*;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

const TYPE_NAME: &str = "model-header-rs\0";
const SCHEMA: &str = concat!(
    r#"{"type":"object","additionalProperties":false,"#,
    r#""properties":{"headerName":{"type":"string","minLength":1,"default":"x-model-rs"}}}"#,
    "\0"
);
const COUNTER: &str = "model_header_rs_set_total";

struct Instance {
    api: &'static bbr_host_api_t,
    context: *const bbr_plugin_context_t,
    header: String,
}

fn buffer_str<'a>(b: &bbr_buffer_t) -> &'a [u8] {
    if b.data.is_null() || b.length == 0 {
        return &[];
    }
    // SAFETY: the host hands a valid view of `length` bytes for the call.
    unsafe { std::slice::from_raw_parts(b.data as *const u8, b.length) }
}

fn json_value() -> bbr_json_value_t {
    bbr_json_value_t {
        struct_size: std::mem::size_of::<bbr_json_value_t>() as u32,
        type_: 0,
        boolean: 0,
        integer: 0,
        number: 0.0,
        string: bbr_buffer_t { data: ptr::null(), length: 0 },
        size: 0,
    }
}

unsafe fn write_error(args: &bbr_create_args_t, text: &str) {
    if args.error.is_null() || args.error_capacity == 0 {
        return;
    }
    let n = text.len().min(args.error_capacity - 1);
    ptr::copy_nonoverlapping(text.as_ptr() as *const c_char, args.error, n);
    *args.error.add(n) = 0;
}

unsafe extern "C" fn create(args: *const bbr_create_args_t, instance_out: *mut *mut c_void) -> c_int {
    let args = &*args;
    let api: &'static bbr_host_api_t = &*args.api;
    let mut value = json_value();
    let pointer = "/headerName";
    let header = if (api.parameter_get)(args.context, pointer.as_ptr() as *const c_char, pointer.len(), &mut value)
        == BBR_OK
        && value.type_ == BBR_JSON_STRING
    {
        String::from_utf8_lossy(buffer_str(&value.string)).into_owned()
    } else {
        // A 1.0 host fills in no defaults.
        "x-model-rs".to_string()
    };
    if header.is_empty() {
        write_error(args, "headerName: must not be empty");
        return 1;
    }
    let instance = Box::new(Instance { api, context: args.context, header });
    *instance_out = Box::into_raw(instance) as *mut c_void;
    0
}

unsafe extern "C" fn destroy(instance: *mut c_void) {
    if !instance.is_null() {
        drop(Box::from_raw(instance as *mut Instance));
    }
}

unsafe extern "C" fn process_request(instance: *mut c_void, msg: *mut bbr_message_t) -> bbr_result_t {
    let me = &*(instance as *const Instance);
    let api = me.api;
    let mut model = json_value();
    let pointer = "/model";
    if (api.json_get)(msg, pointer.as_ptr() as *const c_char, pointer.len(), &mut model) != BBR_OK {
        return BBR_CONTINUE; // no model (or no JSON body): not this plugin's business
    }
    if model.type_ != BBR_JSON_STRING {
        let text = "model must be a string";
        (api.set_error)(msg, text.as_ptr() as *const c_char, text.len());
        return BBR_FAIL_BAD_REQUEST;
    }
    let name = buffer_str(&model.string);
    (api.set_header)(
        msg,
        me.header.as_ptr() as *const c_char,
        me.header.len(),
        name.as_ptr() as *const c_char,
        name.len(),
    );
    if (api.log_enabled)(me.context, BBR_LOG_INFO) != 0 {
        let line = format!("{} set to {}", me.header, String::from_utf8_lossy(name));
        (api.log)(me.context, BBR_LOG_INFO, line.as_ptr() as *const c_char, line.len());
    }
    (api.counter_add)(me.context, COUNTER.as_ptr() as *const c_char, COUNTER.len(), ptr::null(), 0, ptr::null(), 0, 1);
    BBR_CONTINUE
}

static TYPE: bbr_plugin_type_t = bbr_plugin_type_t {
    struct_size: std::mem::size_of::<bbr_plugin_type_t>() as u32,
    name: TYPE_NAME.as_ptr() as *const c_char,
    version: "1.0.0\0".as_ptr() as *const c_char,
    description: "Copies the body's model into a header (Rust, the C ABI declared by hand)\0".as_ptr()
        as *const c_char,
    capabilities: BBR_CAP_REQUEST | BBR_CAP_THREAD_SAFE,
    parameters_schema: SCHEMA.as_ptr() as *const c_char,
    create,
    destroy,
    process_request: Some(process_request),
    process_response: None,
    process_response_chunk: None,
    process_response_event: None,
};

static TYPES: TypeList = TypeList([&TYPE as *const bbr_plugin_type_t]);

static LIBRARY: bbr_plugin_library_t = bbr_plugin_library_t {
    struct_size: std::mem::size_of::<bbr_plugin_library_t>() as u32,
    abi_major: BBR_ABI_MAJOR,
    abi_minor: BBR_ABI_MINOR,
    type_count: 1,
    types: &TYPES as *const TypeList as *const *const bbr_plugin_type_t,
};

/// The one symbol bbr-host looks for.
#[no_mangle]
pub unsafe extern "C" fn bbr_plugin_entry_v1(host: *const bbr_host_info_t) -> *const bbr_plugin_library_t {
    if host.is_null() || (*host).abi_major != BBR_ABI_MAJOR || !layout_ok() {
        return ptr::null();
    }
    &LIBRARY
}
