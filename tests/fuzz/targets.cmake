# The fuzz targets and what each links, shared by tests/fuzz/CMakeLists.txt (the libFuzzer
# executables, TC_FUZZ=ON) and tests/CMakeLists.txt (the replay of their corpus and regression
# inputs in every test run). Each target is tests/fuzz/fuzz_<name>.c.
set(TC_FUZZ_TARGETS id catalog model record csv_row score_request steward_request train_spec
                    pb_json)

set(TC_FUZZ_DIR ${CMAKE_SOURCE_DIR}/tests/fuzz)
set(TC_FUZZ_csv_row_LIBS tinchap_csv)
# the checks of the service's requests, without the service (no gRPC)
set(TC_FUZZ_score_request_LIBS tinchap_checks)
set(TC_FUZZ_steward_request_LIBS tinchap_checks)

# the proto3 JSON mapping of the REST interface, as a library
set(TC_FUZZ_pb_json_LIBS tinchap_json tinchap_proto)

# tc_fuzz_harness(executable name): give executable the harness of target name and its needs.
function(tc_fuzz_harness exe name)
  target_sources(${exe} PRIVATE ${TC_FUZZ_DIR}/fuzz_${name}.c ${TC_FUZZ_DIR}/fuzz_common.c
                 ${TC_FUZZ_${name}_SOURCES})
  target_include_directories(${exe} PRIVATE ${TC_FUZZ_DIR} ${TC_FUZZ_${name}_INCLUDES})
  target_link_libraries(${exe} PRIVATE tinchap_scoring ${TC_FUZZ_${name}_LIBS})
  target_compile_definitions(${exe} PRIVATE TC_FUZZ_MODELS="${CMAKE_SOURCE_DIR}/models")
endfunction()
