// SPDX-License-Identifier: MIT
#include <doctest/doctest.h>

#include "nn/vgg19_layers.h"

using namespace nst;

TEST_CASE("vgg19 layers: names and torchvision indices") {
    CHECK(layer_index("conv1_1") == 0);
    CHECK(layer_index("relu1_1") == 1);
    CHECK(layer_index("pool1") == 4);
    CHECK(layer_index("relu4_2") == 22);
    CHECK(layer_index("relu5_1") == 29);
    CHECK(layer_index("pool5") == 36);
    const int tv[16] = {0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34};
    for (int k = 0; k < kNumConvs; ++k) CHECK(conv_layer_index(k) == tv[k]);
    CHECK(conv_in_channels(0) == 3);
    CHECK(conv_in_channels(2) == 64);
    CHECK(conv_out_channels(4) == 256);
    CHECK(conv_in_channels(8) == 256);
    CHECK_THROWS(layer_index("relu6_1"));
    CHECK_THROWS(parse_layer_list("relu1_1,relu1_1", "--style-layers"));
    CHECK(parse_layer_list("relu4_2,conv1_1", "--x") == std::vector<int>{22, 0});
    int h, w;
    layer_output_size(layer_index("pool1"), 97, 128, h, w);
    CHECK(h == 48);
    CHECK(w == 64);
}
