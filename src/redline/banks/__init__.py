"""Hash banks: named lists of known content's hashes, with labels and provenance."""

from redline.banks.manage import (
    BankExists,
    BankInfo,
    EntryInfo,
    UnknownBank,
    UnknownEntry,
    add_entry,
    add_media,
    create_bank,
    delete_bank,
    delete_entry,
    get_bank,
    get_entry,
    list_banks,
    set_entry_enabled,
    update_bank,
    update_entry,
)
from redline.banks.transfer import ImportSummary, add_media_files, export_bank, import_file

__all__ = [
    "BankExists",
    "BankInfo",
    "EntryInfo",
    "ImportSummary",
    "UnknownBank",
    "UnknownEntry",
    "add_entry",
    "add_media",
    "add_media_files",
    "create_bank",
    "delete_bank",
    "delete_entry",
    "export_bank",
    "get_bank",
    "get_entry",
    "import_file",
    "list_banks",
    "set_entry_enabled",
    "update_bank",
    "update_entry",
]
