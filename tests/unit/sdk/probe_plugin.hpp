// The probe plugin's descriptors (probe_plugin.cpp), linked into unit_sdk.
#pragma once

#include <bbr/plugin.h>

const bbr_plugin_type_t* probe_type();
const bbr_plugin_type_t* stream_probe_type();
