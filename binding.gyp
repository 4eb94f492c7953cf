{
  # The addon build used by `npm install` (scripts/install-native.js) and prebuildify.
  # Sources come from native/sources.json, which CMakeLists.txt reads too.
  # Each instruction set's micro-kernels are a static library with its own flags; everything
  # else is built for the baseline of the target architecture. Never tuned to the build host's CPU.
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-O3", "-fPIC"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++1y", "-std=gnu++20"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "GCC_OPTIMIZATION_LEVEL": "3",
      "MACOSX_DEPLOYMENT_TARGET": "11.0"
    },
    "msvs_settings": {
      "VCCLCompilerTool": {
        "ExceptionHandling": 1,
        "AdditionalOptions": ["/std:c++17"]
      }
    }
  },
  "targets": [
    {
      "target_name": "convnet_kernels_scalar",
      "type": "static_library",
      "sources": ["<!@(node -p \"require('./native/sources.json').scalar.join(' ')\")"]
    },
    {
      "target_name": "convnet_core",
      "type": "static_library",
      "sources": ["<!@(node -p \"require('./native/sources.json').core.join(' ')\")"],
      # sqrt without errno: the compiler then vectorizes loops that take square roots (Adam,
      # batch norm); the results are the same correctly rounded values.
      "cflags_cc": ["-fno-math-errno"],
      "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-fno-math-errno"]},
      "dependencies": ["convnet_kernels_scalar"],
      "conditions": [
        ["target_arch=='x64'", {"dependencies": ["convnet_kernels_sse2", "convnet_kernels_avx2"]}],
        ["target_arch=='arm64'", {"dependencies": ["convnet_kernels_neon"]}]
      ]
    },
    {
      "target_name": "convnet",
      "sources": ["<!@(node -p \"require('./native/sources.json').binding.join(' ')\")"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "dependencies": ["convnet_core"]
    }
  ],
  "conditions": [
    [
      "target_arch=='x64'",
      {
        "targets": [
          {
            "target_name": "convnet_kernels_sse2",
            "type": "static_library",
            "sources": ["<!@(node -p \"require('./native/sources.json').sse2.join(' ')\")"]
          },
          {
            "target_name": "convnet_kernels_avx2",
            "type": "static_library",
            "sources": ["<!@(node -p \"require('./native/sources.json').avx2.join(' ')\")"],
            "cflags_cc": ["-mavx2", "-mfma"],
            "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"]},
            "msvs_settings": {"VCCLCompilerTool": {"EnableEnhancedInstructionSet": "5"}}
          }
        ]
      }
    ],
    [
      "target_arch=='arm64'",
      {
        "targets": [
          {
            "target_name": "convnet_kernels_neon",
            "type": "static_library",
            "sources": ["<!@(node -p \"require('./native/sources.json').neon.join(' ')\")"]
          }
        ]
      }
    ]
  ]
}
