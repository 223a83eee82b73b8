# daskcpp_dask_order: dask.order.order ported (pure algorithm, no Python). Its own
# library because both the scheduler core and python_compat's graph materializer
# use it, and python_compat does not depend on the scheduler core.
add_library(daskcpp_dask_order STATIC
  ${CMAKE_CURRENT_LIST_DIR}/ordering/py_set_table.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ordering/dask_order.cpp)
target_include_directories(daskcpp_dask_order PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(daskcpp_dask_order
  PUBLIC daskcpp_protocol
  PRIVATE daskcpp_compile_options)

# daskcpp_scheduler_core: scheduler state, transitions and placement as a plain
# library — no Asio, no Python, no sockets (style.md §1-§2). Included from
# scheduler/CMakeLists.txt; unit tests link only this.
add_library(daskcpp_scheduler_core STATIC
  ${CMAKE_CURRENT_LIST_DIR}/state/scheduler_state.cpp
  ${CMAKE_CURRENT_LIST_DIR}/placement/placement.cpp
  ${CMAKE_CURRENT_LIST_DIR}/placement/replica_plan.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transitions/transitions.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transitions/transition_functions.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transitions/stimuli.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transitions/handler_support.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transitions/graph_intake.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transitions/task_results.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transitions/worker_replicas.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transitions/worker_membership.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transitions/client_membership.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transitions/validate.cpp
  ${CMAKE_CURRENT_LIST_DIR}/stealing/work_stealing.cpp)
target_include_directories(daskcpp_scheduler_core PUBLIC ${PROJECT_SOURCE_DIR})
# Only Status (protocol/status.cpp) and Bytes are used from the protocol library.
target_link_libraries(daskcpp_scheduler_core
  PUBLIC daskcpp_protocol daskcpp_dask_order
  PRIVATE daskcpp_compile_options)
