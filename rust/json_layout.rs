//! JSON text laid out as Python's `json.dumps(value, indent=N)` lays it out, from the text
//! its compact encoder wrote (`json.dumps(value)`): the same bytes, without Python's
//! pure-Python indenting encoder, which costs about a microsecond a value.

/// `text` (JSON as `json.dumps` writes it: separators `", "` and `": "`, no other space
/// outside strings) indented by `indent` spaces a level, with `","` and `": "` as the
/// separators, empty containers kept as `[]` and `{}`: what `json.dumps(value, indent=indent)`
/// returns for the same value. Strings are copied byte for byte.
pub fn indent(text: &str, indent: usize) -> String {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len() + bytes.len() / 2);
    let mut depth = 0usize;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + depth * indent, b' ');
    };
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                // Copy the string whole: up to the quote no backslash escapes.
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                out.extend_from_slice(&bytes[start..i]);
                continue;
            }
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                if bytes.get(i + 1) == Some(&close) {
                    out.extend_from_slice(&[b, close]);
                    i += 2;
                    continue;
                }
                out.push(b);
                depth += 1;
                newline(&mut out, depth);
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(b);
            }
            b',' => {
                out.push(b',');
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            b' ' | b'\n' | b'\t' | b'\r' => {}
            _ => out.push(b),
        }
        i += 1;
    }
    // Only ASCII was added and every string was copied whole, so this is UTF-8 again.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::indent;

    #[test]
    fn lays_out_as_python_does() {
        let compact =
            r#"{"a": [1, 2.5, {"b": null}], "e": [], "o": {}, "s": "x, y: [z] \"q\" \\"}"#;
        let expected = "{\n  \"a\": [\n    1,\n    2.5,\n    {\n      \"b\": null\n    }\n  ],\n  \
                        \"e\": [],\n  \"o\": {},\n  \"s\": \"x, y: [z] \\\"q\\\" \\\\\"\n}";
        assert_eq!(indent(compact, 2), expected);
        assert_eq!(indent("[]", 2), "[]");
        assert_eq!(indent("\"\u{e9}\"", 2), "\"\u{e9}\"");
    }
}
