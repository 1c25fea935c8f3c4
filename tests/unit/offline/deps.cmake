# unit_offline drives the real Session through the offline driver, on the
# in-tree and test plugins (dlopen): link the driver, build the plugins first.
if(TARGET unit_offline)
  target_link_libraries(unit_offline PRIVATE bbr_offline)
  add_dependencies(unit_offline body-field-to-header base-model-to-header)
endif()
