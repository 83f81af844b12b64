// The text of controller/issuance/ca_products.json, compiled into the
// library by CMake (ca_products_data.cc.in) so that the controller needs no
// data file beside its binary. Only CaProductCatalogue::Builtin reads it.
//
// Thread safety: returns a view of a constant.

#ifndef CERTFLEET_CONTROLLER_ISSUANCE_CA_PRODUCTS_DATA_H_
#define CERTFLEET_CONTROLLER_ISSUANCE_CA_PRODUCTS_DATA_H_

#include <string_view>

namespace certfleet::controller {

// The JSON text of the built-in CA product catalogue.
std::string_view BuiltinCaProductsJson();

}  // namespace certfleet::controller

#endif  // CERTFLEET_CONTROLLER_ISSUANCE_CA_PRODUCTS_DATA_H_
