//! `scopegate diff`: what a permission change grants or takes away.
