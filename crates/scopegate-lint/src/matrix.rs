//! `scopegate matrix`: who may call each endpoint method.
