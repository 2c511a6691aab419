import CoreSupport

typealias SeededGenerator = CoreSupport.SeededGenerator
