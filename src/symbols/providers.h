// The concrete symbol providers (see symbol_provider.h).
#pragma once

#include <memory>
#include <string>

#include "breakpad/sym_file.h"
#include "isf/isf_file.h"
#include "pdb/pdb_file.h"
#include "pe/pe_image.h"
#include "symbols/symbol_provider.h"

namespace nt {

std::unique_ptr<SymbolProvider> makeExportProvider(const PeImage& image, uint64_t moduleSize);
std::unique_ptr<SymbolProvider> makePdbProvider(std::unique_ptr<pdb::PdbFile> pdb, std::string path);
std::unique_ptr<SymbolProvider> makeBreakpadProvider(std::unique_ptr<breakpad::SymFile> sym, std::string path);
std::unique_ptr<SymbolProvider> makeIsfProvider(std::unique_ptr<isf::IsfFile> isf, std::string path);

}  // namespace nt
