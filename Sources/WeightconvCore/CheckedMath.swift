/// Arithmetic on numbers that came from a file: every operation reports overflow instead of trapping.
package enum CheckedMath {
    /// The product of `factors`, or `nil` if it overflows `Int` or any factor is negative.
    package static func product(_ factors: some Sequence<Int>) -> Int? {
        var result = 1
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (value, overflow) = result.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            result = value
        }
        return result
    }

    package static func multiply(_ a: Int, _ b: Int) -> Int? {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : value
    }

    package static func add(_ a: Int, _ b: Int) -> Int? {
        let (value, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : value
    }

    /// Rounds `value` up to a multiple of `alignment` (a power of two), or `nil` on overflow.
    package static func alignUp(_ value: Int, to alignment: Int) -> Int? {
        guard value >= 0, alignment > 0, alignment & (alignment - 1) == 0,
              let bumped = add(value, alignment - 1) else { return nil }
        return bumped & ~(alignment - 1)
    }
}
