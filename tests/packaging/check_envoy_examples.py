#!/usr/bin/env python3
"""Checks examples/envoy/*.yaml without Envoy (not installable here).

Field names come from Envoy's API (envoy.extensions.filters.http.ext_proc.v3
ExternalProcessor and ProcessingMode, api/envoy/extensions/filters/http/ext_proc/v3/).
Checks: the ext_proc config uses only real fields and enum values, the mode
matches the file (buffered/streamed) and Envoy's rules for it (FULL_DUPLEX_STREAMED
needs trailer mode SEND), it fails closed, its gRPC cluster exists and points at
bbr-host's default port, ext_proc runs before the router, routes on
X-Gateway-Model-Name and every routed cluster exists.

usage: check_envoy_examples.py <examples/envoy dir>
"""
import os
import sys

try:
    import yaml
except ImportError:
    print("SKIP: python3 yaml module missing (apt-get install python3-yaml)")
    sys.exit(77)

EXT_PROC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor"
EXT_PROC_FIELDS = {
    "grpc_service", "http_service", "failure_mode_allow", "processing_mode", "request_attributes",
    "response_attributes", "message_timeout", "stat_prefix", "mutation_rules", "max_message_timeout",
    "forward_rules", "filter_metadata", "allow_mode_override", "disable_immediate_response",
    "metadata_options", "observability_mode", "disable_clear_route_cache", "route_cache_action",
    "deferred_close_timeout", "send_body_without_waiting_for_header_response",
    "allowed_override_modes", "on_processing_response", "status_on_error", "@type",
}
HEADER_MODES = {"DEFAULT", "SEND", "SKIP"}
BODY_MODES = {"NONE", "STREAMED", "BUFFERED", "BUFFERED_PARTIAL", "FULL_DUPLEX_STREAMED"}
PROCESSING_MODE_FIELDS = {
    "request_header_mode": HEADER_MODES, "response_header_mode": HEADER_MODES,
    "request_body_mode": BODY_MODES, "response_body_mode": BODY_MODES,
    "request_trailer_mode": HEADER_MODES, "response_trailer_mode": HEADER_MODES,
}
EXPECTED_MODES = {
    "envoy-buffered.yaml": {"request_header_mode": "SEND", "request_body_mode": "BUFFERED",
                            "response_body_mode": "NONE"},
    "envoy-streamed.yaml": {"request_header_mode": "SEND", "response_header_mode": "SEND",
                            "request_body_mode": "FULL_DUPLEX_STREAMED",
                            "response_body_mode": "FULL_DUPLEX_STREAMED",
                            "request_trailer_mode": "SEND", "response_trailer_mode": "SEND"},
}


def check_file(path, problems):
    name = os.path.basename(path)
    with open(path, encoding="utf-8") as f:
        bootstrap = yaml.safe_load(f)
    where = lambda what: f"{name}: {what}"  # noqa: E731
    clusters = {c["name"]: c for c in bootstrap["static_resources"]["clusters"]}
    listener = bootstrap["static_resources"]["listeners"][0]
    if listener["address"]["socket_address"]["port_value"] != 8080:
        problems.append(where("the listener should be on port 8080"))
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    filters = hcm["http_filters"]
    names = [f["name"] for f in filters]
    if names[-1] != "envoy.filters.http.router":
        problems.append(where("the router must be the last HTTP filter"))
    ext_procs = [f for f in filters if f["typed_config"].get("@type") == EXT_PROC_TYPE]
    if len(ext_procs) != 1:
        problems.append(where(f"expected one ext_proc filter, found {len(ext_procs)}"))
        return
    config = ext_procs[0]["typed_config"]
    for key in sorted(set(config) - EXT_PROC_FIELDS):
        problems.append(where(f"ExternalProcessor has no field {key!r}"))
    mode = config.get("processing_mode", {})
    for key, value in mode.items():
        if key not in PROCESSING_MODE_FIELDS:
            problems.append(where(f"ProcessingMode has no field {key!r}"))
        elif value not in PROCESSING_MODE_FIELDS[key]:
            problems.append(where(f"processing_mode.{key}: {value!r} is not one of "
                                  f"{sorted(PROCESSING_MODE_FIELDS[key])}"))
    for key, value in EXPECTED_MODES[name].items():
        if mode.get(key) != value:
            problems.append(where(f"processing_mode.{key} should be {value}, is {mode.get(key)}"))
    for direction in ("request", "response"):
        if mode.get(f"{direction}_body_mode") == "FULL_DUPLEX_STREAMED" and \
                mode.get(f"{direction}_trailer_mode") != "SEND":
            problems.append(where(f"FULL_DUPLEX_STREAMED {direction} body needs {direction}_trailer_mode SEND"))
    if config.get("failure_mode_allow") is not False:
        problems.append(where("failure_mode_allow must be false (fail closed, as the reference chart)"))
    if config.get("allow_mode_override") is not True:
        problems.append(where("allow_mode_override should be true (as the reference chart)"))
    if "message_timeout" not in config:
        problems.append(where("message_timeout missing"))
    cluster_name = config["grpc_service"]["envoy_grpc"]["cluster_name"]
    bbr = clusters.get(cluster_name)
    if not bbr:
        problems.append(where(f"ext_proc cluster {cluster_name!r} is not defined"))
    else:
        endpoint = bbr["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
        if (endpoint["address"], endpoint["port_value"]) != ("127.0.0.1", 9004):
            problems.append(where("the bbr cluster should point at 127.0.0.1:9004 (bbr-host's default)"))
        options = bbr.get("typed_extension_protocol_options", {})
        if not any("http2_protocol_options" in o.get("explicit_http_config", {}) for o in options.values()):
            problems.append(where("the bbr cluster must speak HTTP/2 (gRPC)"))
        if bbr.get("transport_socket", {}).get("name") != "envoy.transport_sockets.tls":
            problems.append(where("the bbr cluster should use TLS (bbr-host's default --secure-serving)"))

    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    routed_header = False
    for route in routes:
        target = route["route"]["cluster"]
        if target not in clusters:
            problems.append(where(f"route to undefined cluster {target!r}"))
        for header in route["match"].get("headers", []):
            if header["name"].lower() == "x-gateway-model-name":
                routed_header = True
    if not routed_header:
        problems.append(where("no route matches the X-Gateway-Model-Name header"))
    if "headers" in routes[-1]["match"]:
        problems.append(where("the last route should be the fallback without header match"))
    print(f"{name}: ext_proc fields {sorted(config)} OK")


def main():
    directory = sys.argv[1]
    problems = []
    for name in sorted(EXPECTED_MODES):
        check_file(os.path.join(directory, name), problems)
    for p in problems:
        print("FAIL:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
