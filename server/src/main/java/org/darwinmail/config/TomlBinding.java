package org.darwinmail.config;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Binds a parsed TOML document to the configuration's records (ARCHITECTURE.md, "Configuration"): a table's keys are
 * its record's components in snake_case ({@code max_message_size} is {@code maxMessageSize}), a missing key is
 * {@code null} for the record's constructor to replace with its default, and the constructor checks the values.
 * Component types: records (tables), {@code String}, {@code Integer}, {@code Long}, {@code Boolean}, {@code Path},
 * {@code List} of those (arrays) and {@code Map<String, record>} (a table of tables). An unknown key, a value of the
 * wrong type or out of its type's range is a {@link ConfigException} naming the key.
 *
 * <p>Issue 22: this replaced Jackson's data binding, which took 110-190 ms of every start (its deserializers built
 * by introspecting each record), longer than the rest of reading the configuration; the TOML parser is still
 * Jackson's.
 */
final class TomlBinding {
  private TomlBinding() {}

  /** A record's keys (snake_case), component types and canonical constructor. */
  private record Shape(Map<String, Integer> keys, Type[] types, Constructor<?> constructor) {
    static Shape of(Class<?> type) {
      RecordComponent[] rc = type.getRecordComponents();
      Map<String, Integer> keys = new LinkedHashMap<>();
      Type[] types = new Type[rc.length];
      Class<?>[] raw = new Class<?>[rc.length];
      for (int i = 0; i < rc.length; i++) {
        keys.put(snakeCase(rc[i].getName()), i);
        types[i] = rc[i].getGenericType();
        raw[i] = rc[i].getType();
      }
      try {
        return new Shape(keys, types, type.getDeclaredConstructor(raw));
      } catch (NoSuchMethodException e) {
        throw new IllegalStateException("no canonical constructor in " + type, e);
      }
    }
  }

  /** {@code tree} (a table) as a {@code type}; {@code path} is the table's key ("" for the document). */
  static <T extends Record> T bind(JsonNode tree, Class<T> type, String path) {
    return type.cast(value(tree, type, path));
  }

  /** {@code maxMessageSize} -> {@code max_message_size}. */
  static String snakeCase(String name) {
    StringBuilder sb = new StringBuilder(name.length() + 4);
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (Character.isUpperCase(c)) {
        if (i > 0) {
          sb.append('_');
        }
        sb.append(Character.toLowerCase(c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  private static Object value(JsonNode node, Type type, String path) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return null;
    }
    if (type instanceof ParameterizedType p) {
      Class<?> raw = (Class<?>) p.getRawType();
      Type element = p.getActualTypeArguments()[raw == Map.class ? 1 : 0];
      if (raw == List.class) {
        if (!node.isArray()) {
          throw wrongType(path, "an array", node);
        }
        List<Object> out = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
          out.add(value(node.get(i), element, path + "[" + i + "]"));
        }
        return out;
      }
      if (raw == Map.class) {
        if (!node.isObject()) {
          throw wrongType(path, "a table", node);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (var e : node.properties()) {
          out.put(e.getKey(), value(e.getValue(), element, path + ".\"" + e.getKey() + "\""));
        }
        return out;
      }
      throw new IllegalStateException(path + ": no binding for " + type);
    }
    Class<?> c = (Class<?>) type;
    if (c.isRecord()) {
      return record(node, c, path);
    }
    if (c == String.class) {
      if (node.isValueNode()) {
        return node.asString();
      }
      throw wrongType(path, "a string", node);
    }
    if (c == Integer.class || c == int.class) {
      long v = integer(node, path);
      if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
        throw new ConfigException(path + ": " + v + " is out of range");
      }
      return (int) v;
    }
    if (c == Long.class || c == long.class) {
      return integer(node, path);
    }
    if (c == Boolean.class || c == boolean.class) {
      if (node.isBoolean()) {
        return node.booleanValue();
      }
      if (node.isString() && (node.stringValue().equals("true") || node.stringValue().equals("false"))) {
        return Boolean.valueOf(node.stringValue());
      }
      throw wrongType(path, "true or false", node);
    }
    if (c == Path.class) {
      if (node.isString()) {
        return Path.of(node.stringValue());
      }
      throw wrongType(path, "a path (a string)", node);
    }
    throw new IllegalStateException(path + ": no binding for " + type);
  }

  private static Object record(JsonNode node, Class<?> type, String path) {
    if (!node.isObject()) {
      throw wrongType(path, "a table", node);
    }
    Shape shape = Shape.of(type);
    Object[] args = new Object[shape.types().length];
    for (var e : node.properties()) {
      String key = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
      Integer i = shape.keys().get(e.getKey());
      if (i == null) {
        throw new ConfigException("unknown key \"" + key + "\"");
      }
      args[i] = value(e.getValue(), shape.types()[i], key);
    }
    try {
      return shape.constructor().newInstance(args);
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof ConfigException ce) {
        throw ce;
      }
      Throwable c = e.getCause();
      String where = path.isEmpty() ? "" : path + ": ";
      throw new ConfigException(where + (c.getMessage() != null ? c.getMessage() : c.toString()), c);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(type + ": " + e, e);
    }
  }

  /** An integer: a TOML integer, or a string of one (as the configuration was read before). */
  private static long integer(JsonNode node, String path) {
    if (node.isIntegralNumber() && node.canConvertToLong()) {
      return node.longValue();
    }
    if (node.isString()) {
      try {
        return Long.parseLong(node.stringValue().trim());
      } catch (NumberFormatException e) {
        // below
      }
    }
    throw wrongType(path, "an integer", node);
  }

  private static ConfigException wrongType(String path, String wanted, JsonNode node) {
    String found = node.isString() ? "\"" + node.stringValue() + "\"" : node.isObject() ? "a table"
        : node.isArray() ? "an array" : node.toString();
    return new ConfigException(path + ": expected " + wanted + ", not " + found);
  }
}
