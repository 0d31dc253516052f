//! The caregrade rules language.
