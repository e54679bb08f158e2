{
  "targets": [
    {
      "target_name": "pipeline_kernels",
      "sources": ["src/engine/kernels/native/kernels.c"],
      "cflags": ["-O3", "-std=gnu11", "-ffp-contract=off", "-Wall", "-Wextra"]
    }
  ]
}
