//! Typing a [`Node`] with serde, keeping the position of whatever went wrong.
//!
//! Errors raised while a value is deserialized take the position of that value; an unknown field
//! takes the position of its key; a missing field takes the position of the mapping that lacks it.
//! Text that came from `${...}` interpolation is replaced by `<redacted>` in messages, so a secret in
//! the wrong place never reaches a terminal.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};

use super::yaml::{Mark, Node, NodeKind, Scalar, ScalarStyle};

/// A deserialization error and, when known, where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeError {
    /// Position of the offending node.
    pub mark: Option<Mark>,
    /// What is wrong.
    pub message: String,
}

impl DeError {
    fn at(mut self, mark: Mark) -> Self {
        if self.mark.is_none() {
            self.mark = Some(mark);
        }
        self
    }

    fn redact(mut self, scalar: &Scalar) -> Self {
        if scalar.interpolated && !scalar.value.is_empty() {
            self.message = self.message.replace(&scalar.value, "<redacted>");
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self {
            mark: None,
            message: message.to_string(),
        }
    }
}

/// Deserializes a typed value from a node.
pub fn from_node<T: DeserializeOwned>(node: &Node) -> Result<T, DeError> {
    T::deserialize(NodeDeserializer { node }).map_err(|error| error.at(node.mark))
}

/// A serde deserializer reading one node.
#[derive(Debug, Clone, Copy)]
pub struct NodeDeserializer<'a> {
    node: &'a Node,
}

impl<'a> NodeDeserializer<'a> {
    /// Wraps a node.
    pub fn new(node: &'a Node) -> Self {
        Self { node }
    }

    fn scalar(&self) -> Option<&'a Scalar> {
        match &self.node.kind {
            NodeKind::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    fn unexpected(&self) -> Unexpected<'a> {
        match &self.node.kind {
            NodeKind::Scalar(_) if self.node.is_null() => Unexpected::Unit,
            NodeKind::Scalar(scalar) if scalar.interpolated => {
                Unexpected::Other("an interpolated value")
            }
            NodeKind::Scalar(scalar) => Unexpected::Str(&scalar.value),
            NodeKind::Sequence(_) => Unexpected::Seq,
            NodeKind::Mapping(_) => Unexpected::Map,
        }
    }

    fn finish<T>(&self, result: Result<T, DeError>) -> Result<T, DeError> {
        result.map_err(|error| {
            let error = match self.scalar() {
                Some(scalar) => error.redact(scalar),
                None => error,
            };
            error.at(self.node.mark)
        })
    }

    fn parse_number<T: std::str::FromStr>(
        &self,
        expected: &dyn de::Expected,
    ) -> Result<T, DeError> {
        match self.scalar() {
            Some(scalar) => {
                let text = scalar.value.trim().replace('_', "");
                text.parse::<T>()
                    .map_err(|_| de::Error::invalid_type(self.unexpected(), expected))
            }
            None => Err(de::Error::invalid_type(self.unexpected(), expected)),
        }
    }
}

/// The YAML 1.2 core schema type of a plain scalar.
enum Resolved {
    Null,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    String,
}

fn resolve_plain(text: &str) -> Resolved {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return Resolved::String;
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).map_or(Resolved::String, Resolved::Unsigned);
    }
    if let Some(octal) = text.strip_prefix("0o") {
        return u64::from_str_radix(octal, 8).map_or(Resolved::String, Resolved::Unsigned);
    }
    if let Ok(value) = text.parse::<u64>() {
        return Resolved::Unsigned(value);
    }
    if let Ok(value) = text.parse::<i64>() {
        return Resolved::Signed(value);
    }
    let looks_like_float = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_like_float && let Ok(value) = text.parse::<f64>() {
        return Resolved::Float(value);
    }
    Resolved::String
}

macro_rules! deserialize_number {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let result = self
                .parse_number::<$ty>(&visitor)
                .and_then(|value| visitor.$visit(value));
            self.finish(result)
        }
    };
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.node.kind {
            NodeKind::Scalar(scalar) if scalar.style == ScalarStyle::Plain => {
                match resolve_plain(&scalar.value) {
                    Resolved::Null => visitor.visit_unit(),
                    Resolved::Bool(value) => visitor.visit_bool(value),
                    Resolved::Unsigned(value) => visitor.visit_u64(value),
                    Resolved::Signed(value) => visitor.visit_i64(value),
                    Resolved::Float(value) => visitor.visit_f64(value),
                    Resolved::String => visitor.visit_str(&scalar.value),
                }
            }
            NodeKind::Scalar(scalar) => visitor.visit_str(&scalar.value),
            NodeKind::Sequence(items) => visitor.visit_seq(SequenceAccess {
                items: items.iter(),
            }),
            NodeKind::Mapping(entries) => visitor.visit_map(MappingAccess {
                entries: entries.iter(),
                value: None,
            }),
        };
        self.finish(result)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.scalar().map(|s| (s.style, resolve_plain(&s.value))) {
            Some((ScalarStyle::Plain, Resolved::Bool(value))) => visitor.visit_bool(value),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.finish(result)
    }

    deserialize_number!(deserialize_i8, visit_i8, i8);
    deserialize_number!(deserialize_i16, visit_i16, i16);
    deserialize_number!(deserialize_i32, visit_i32, i32);
    deserialize_number!(deserialize_i64, visit_i64, i64);
    deserialize_number!(deserialize_u8, visit_u8, u8);
    deserialize_number!(deserialize_u16, visit_u16, u16);
    deserialize_number!(deserialize_u32, visit_u32, u32);
    deserialize_number!(deserialize_u64, visit_u64, u64);
    deserialize_number!(deserialize_f32, visit_f32, f32);
    deserialize_number!(deserialize_f64, visit_f64, f64);

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.scalar() {
            Some(scalar) if !self.node.is_null() || scalar.style == ScalarStyle::Quoted => {
                visitor.visit_str(&scalar.value)
            }
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.finish(result)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = if self.node.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        };
        self.finish(result)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = if self.node.is_null() {
            visitor.visit_unit()
        } else {
            Err(de::Error::invalid_type(self.unexpected(), &visitor))
        };
        self.finish(result)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let result = visitor.visit_newtype_struct(self);
        self.finish(result)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.node.kind {
            NodeKind::Sequence(items) => visitor.visit_seq(SequenceAccess {
                items: items.iter(),
            }),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.finish(result)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match &self.node.kind {
            NodeKind::Mapping(entries) => visitor.visit_map(MappingAccess {
                entries: entries.iter(),
                value: None,
            }),
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.finish(result)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let result = match &self.node.kind {
            NodeKind::Scalar(scalar) => visitor.visit_enum(UnitVariant {
                name: &scalar.value,
            }),
            NodeKind::Mapping(entries) if entries.len() == 1 => {
                visitor.visit_enum(VariantWithValue {
                    key: &entries[0].0,
                    value: &entries[0].1,
                })
            }
            _ => Err(de::Error::invalid_type(self.unexpected(), &visitor)),
        };
        self.finish(result)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SequenceAccess<'a> {
    items: std::slice::Iter<'a, Node>,
}

impl<'de> SeqAccess<'de> for SequenceAccess<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(NodeDeserializer { node })
                .map(Some)
                .map_err(|error| error.at(node.mark)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MappingAccess<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
}

impl<'de> MapAccess<'de> for MappingAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(NodeDeserializer { node: key })
                    .map(Some)
                    .map_err(|error| error.at(key.mark))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some(node) => seed
                .deserialize(NodeDeserializer { node })
                .map_err(|error| error.at(node.mark)),
            None => Err(de::Error::custom("value requested before key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

struct UnitVariant<'a> {
    name: &'a str,
}

impl<'de> EnumAccess<'de> for UnitVariant<'_> {
    type Error = DeError;
    type Variant = UnitOnly;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, UnitOnly), DeError> {
        let deserializer: de::value::StrDeserializer<'_, DeError> = self.name.into_deserializer();
        Ok((seed.deserialize(deserializer)?, UnitOnly))
    }
}

struct UnitOnly;

impl<'de> VariantAccess<'de> for UnitOnly {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, DeError> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"a mapping with one key",
        ))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, DeError> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"a mapping with one key",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, DeError> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"a mapping with one key",
        ))
    }
}

struct VariantWithValue<'a> {
    key: &'a Node,
    value: &'a Node,
}

impl<'de, 'a> EnumAccess<'de> for VariantWithValue<'a> {
    type Error = DeError;
    type Variant = NodeDeserializer<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, NodeDeserializer<'a>), DeError> {
        let variant = seed
            .deserialize(NodeDeserializer { node: self.key })
            .map_err(|error| error.at(self.key.mark))?;
        Ok((variant, NodeDeserializer { node: self.value }))
    }
}

impl<'de> VariantAccess<'de> for NodeDeserializer<'_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::super::yaml::parse;
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Options {
        path: String,
        #[serde(default)]
        follow: bool,
        #[serde(default)]
        count: Option<u32>,
        #[serde(default)]
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Block,
        DropNewest,
    }

    fn de<T: DeserializeOwned>(yaml: &str) -> Result<T, DeError> {
        from_node(&parse(yaml).unwrap())
    }

    #[test]
    fn types_plain_and_quoted_scalars() {
        let options: Options =
            de("path: \"123\"\nfollow: true\ncount: 7\nmode: drop_newest\n").unwrap();
        assert_eq!(
            options,
            Options {
                path: "123".into(),
                follow: true,
                count: Some(7),
                mode: Some(Mode::DropNewest)
            }
        );
        let plain_number_as_string: Options = de("path: 123\n").unwrap();
        assert_eq!(plain_number_as_string.path, "123");
    }

    #[test]
    fn unknown_field_points_at_the_key() {
        let error = de::<Options>("path: a\n  \nfolow: true\n").unwrap_err();
        assert_eq!(error.mark, Some(Mark { line: 3, column: 1 }));
        assert!(
            error.message.starts_with("unknown field `folow`"),
            "{}",
            error.message
        );
    }

    #[test]
    fn missing_field_points_at_the_mapping() {
        let error = de::<BTreeMap<String, Options>>("a:\n  follow: true\n").unwrap_err();
        assert_eq!(error.mark, Some(Mark { line: 2, column: 3 }));
        assert_eq!(error.message, "missing field `path`");
    }

    #[test]
    fn wrong_type_points_at_the_value() {
        let error = de::<Options>("path: a\ncount: lots\n").unwrap_err();
        assert_eq!(error.mark, Some(Mark { line: 2, column: 8 }));
        assert!(error.message.contains("invalid type"), "{}", error.message);
        let error = de::<Options>("path: a\nmode: sometimes\n").unwrap_err();
        assert_eq!(error.mark, Some(Mark { line: 2, column: 7 }));
        assert!(error.message.contains("unknown variant `sometimes`"));
    }

    #[test]
    fn interpolated_text_is_redacted() {
        let mut node = parse("path: a\nmode: hunter2\n").unwrap();
        if let NodeKind::Mapping(entries) = &mut node.kind
            && let NodeKind::Scalar(scalar) = &mut entries[1].1.kind
        {
            scalar.interpolated = true;
        }
        let error = from_node::<Options>(&node).unwrap_err();
        assert!(!error.message.contains("hunter2"), "{}", error.message);
        assert!(error.message.contains("<redacted>"), "{}", error.message);
    }

    #[test]
    fn any_resolves_the_core_schema() {
        let value: serde_json::Value =
            de("a: 1\nb: -2\nc: 1.5\nd: true\ne: ~\nf: text\ng: '1'\n").unwrap();
        assert_eq!(
            value,
            serde_json::json!({"a": 1, "b": -2, "c": 1.5, "d": true, "e": null, "f": "text", "g": "1"})
        );
    }
}
