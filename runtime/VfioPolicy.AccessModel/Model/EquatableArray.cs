using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;

namespace VfioPolicy.AccessModel.Model
{
    /// <summary>
    /// An immutable array with structural equality. The model is compared by value (the incremental source
    /// generator caches on it, the semantic diff compares it), and plain arrays compare by reference.
    /// </summary>
    public readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IReadOnlyList<T>
        where T : IEquatable<T>
    {
        private readonly T[]? _items;

        /// <summary>Wraps a copy of <paramref name="items"/>.</summary>
        public EquatableArray(IEnumerable<T> items) => _items = items.ToArray();

        /// <summary>The empty array.</summary>
        public static EquatableArray<T> Empty => default;

        /// <summary>Number of items.</summary>
        public int Count => _items?.Length ?? 0;

        /// <summary>The item at <paramref name="index"/>.</summary>
        public T this[int index] => (_items ?? Array.Empty<T>())[index];

        /// <summary>The items as a span, without copying.</summary>
        public ReadOnlySpan<T> AsSpan() => _items;

        /// <inheritdoc />
        public bool Equals(EquatableArray<T> other) => AsSpan().SequenceEqual(other.AsSpan());

        /// <inheritdoc />
        public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

        /// <inheritdoc />
        public override int GetHashCode()
        {
            unchecked
            {
                int hash = 17;
                foreach (T item in AsSpan())
                {
                    hash = (hash * 31) + (item?.GetHashCode() ?? 0);
                }

                return hash;
            }
        }

        /// <summary>Structural equality.</summary>
        public static bool operator ==(EquatableArray<T> left, EquatableArray<T> right) => left.Equals(right);

        /// <summary>Structural inequality.</summary>
        public static bool operator !=(EquatableArray<T> left, EquatableArray<T> right) => !left.Equals(right);

        /// <inheritdoc />
        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)(_items ?? Array.Empty<T>())).GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Creation helpers for <see cref="EquatableArray{T}"/>.</summary>
    public static class EquatableArray
    {
        /// <summary>Copies <paramref name="items"/> into an equatable array.</summary>
        public static EquatableArray<T> ToEquatableArray<T>(this IEnumerable<T> items)
            where T : IEquatable<T> => new EquatableArray<T>(items);
    }
}
